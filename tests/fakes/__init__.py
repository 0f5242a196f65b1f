"""Local HTTP servers that play third-party APIs (Meta's Graph API, Twilio's Messages API)."""
