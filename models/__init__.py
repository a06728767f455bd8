"""Classifiers, SPEC labels, bouts and the dose."""
