"""davinci-pa: payer-side HL7 Da Vinci prior authorization (CRD, DTR, PAS) for CMS-0057-F."""

from __future__ import annotations

from davinci_pa._version import __version__

__all__ = ["__version__"]
