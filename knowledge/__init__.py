"""Retrieval core of the clinic FAQ bot: sources, sectioning, embedding, index and search.

Plain typed Python with no Rasa imports; the Rasa actions and channels are thin adapters over it.
"""
