"""PAS 2.2.1 (and 2.0.1): prior authorization requests, decisions, pended work, notifications.

Provider side: :func:`build_request_bundle` assembles the request Bundle from the orders,
Coverage, Patient, requester and DTR QuestionnaireResponses. Payer side:
:class:`davinci_pa.pas.service.PasService` answers ``Claim/$submit`` and ``Claim/$inquire``.
"""

from __future__ import annotations

from davinci_pa.pas.builder import ClaimOptions, ClaimParties, ItemCodes, build_request_bundle

__all__ = ["ClaimOptions", "ClaimParties", "ItemCodes", "build_request_bundle"]
