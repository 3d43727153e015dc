"""After the engine: the language over speech, filters for invented text, speakers."""
