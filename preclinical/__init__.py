"""Preclinical: test healthcare AI agents against simulated patients and clinical rubrics."""

__version__ = "0.1.0"
