"""The plan's year as the office lives it: plans kept as versions, drafts written in the
browser, previewed and published; a year rolled over to the next; an official document's
scoring table imported as a draft."""
