"""Calendar export: .ics downloads, subscription feeds and their secret tokens."""
