"""The form fillers live in intake.samples (the demo uses them too); re-exported here."""

from intake.samples import fill_docx, fill_pdf

__all__ = ["fill_docx", "fill_pdf"]
