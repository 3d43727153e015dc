"""What the engine plugins share: device choice, loaded models, weights, conversion, the catalog."""
