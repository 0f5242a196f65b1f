"""The Rasa project: domain, training data, credentials, endpoints and custom channels."""
