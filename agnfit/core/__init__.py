"""Interfaces and the machinery that composes them."""
