"""Early hints (RFC 8297): the links a page used, remembered per route, and the session that
sends them with the next navigation's 103 and its ``Link``."""
