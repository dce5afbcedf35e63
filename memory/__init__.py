"""Session history, notes, semantic memory and compaction. Not built yet."""
