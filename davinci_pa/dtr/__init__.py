"""DTR (Documentation Templates and Rules 2.2, also 2.0.1): the payer's DTR service.

``prepopulate(questionnaire, data_source, context)`` fills a form from a patient's record;
:class:`DtrService` answers ``$questionnaire-package``, ``$next-question``,
``$log-questionnaire-errors``, content reads and QuestionnaireResponse intake.
"""

from __future__ import annotations

from davinci_pa.dtr.content import DtrContent, shipped_questionnaires
from davinci_pa.dtr.prepopulate import (
    Prepopulated,
    PrepopulationContext,
    Prepopulator,
    prepopulate,
)

__all__ = [
    "DtrContent",
    "Prepopulated",
    "PrepopulationContext",
    "Prepopulator",
    "prepopulate",
    "shipped_questionnaires",
]
