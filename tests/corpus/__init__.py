"""A generated corpus of declaration documents with the results a parser must give."""
