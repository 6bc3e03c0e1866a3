"""HTTP rules, free of I/O: request fields, preconditions, ranges, entity tags, content
negotiation, media types, cache policy, and the response decision with its messages."""
