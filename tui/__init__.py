"""The Textual operator console. Not built yet."""
