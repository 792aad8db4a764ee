"""The DTR payer service: every DTR operation, framework-free.

DTR 2.2 §Payer obligations: ``$questionnaire-package`` (2.2 and 2.0.1 shapes),
``$next-question`` (stateless, ``spec-147`` 400 on invalid input), ``$log-questionnaire-errors``
(``oper-1``), reads of Questionnaire/Library/ValueSet by id and canonical, SDC ``$populate``
for payer-side prepopulation, and QuestionnaireResponse intake linked to the order and the
CRD coverage-assertion-id.
"""

from __future__ import annotations

import copy
import functools
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from davinci_pa.dtr.adaptive import completion_item, next_page
from davinci_pa.dtr.content import DtrContent, shipped_questionnaires
from davinci_pa.dtr.errors import DtrRequestError
from davinci_pa.dtr.intake import origin_problems, required_problems, validate_response
from davinci_pa.dtr.package import PackageBuilder
from davinci_pa.dtr.params import (
    parse_log_errors,
    parse_next_question,
    parse_package_request,
    structure_problems,
)
from davinci_pa.dtr.prepopulate import PrepopulationContext, Prepopulator
from davinci_pa.dtr.selection import AssertionSource, select
from davinci_pa.dtr.vocabulary import (
    QR_CONTEXT,
    QR_COVERAGE,
    VERSIONS,
    canonical_of,
    extensions,
)
from davinci_pa.errors import ConfigurationError, ResourceNotFound
from davinci_pa.rules.expansion import expansion_as_of
from davinci_pa.rules.model import RulePack
from davinci_pa.store.clock import Clock, utc_now
from davinci_pa.store.database import Database
from davinci_pa.store.dtr_records import DtrRecords, ResponseRecord
from davinci_pa.types import Resource


class DtrService:
    """Answers the DTR operations for one payer.

    Args:
        content: the forms, libraries and value sets served.
        rules: the rule pack, to find forms for orders when no context is given.
        records: where responses and error logs are kept (None keeps nothing).
        assertions: CRD coverage assertions, to honour ``context``.
        default_version: the DTR shape for callers that do not declare one (``2.2``).
        clock, new_id: time and id factories.
    """

    def __init__(
        self,
        content: DtrContent,
        *,
        rules: RulePack | None = None,
        records: DtrRecords | None = None,
        assertions: AssertionSource | None = None,
        default_version: str = "2.2",
        clock: Clock = utc_now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.content = content
        self.rules = rules
        self.records = records
        self.assertions = assertions
        if default_version not in VERSIONS:
            known = ", ".join(sorted(VERSIONS))
            raise ConfigurationError(
                f"unknown DTR version {default_version!r} (use one of {known})"
            )
        self.default_version = VERSIONS[default_version]
        self.prepopulator = Prepopulator(content, clock=clock)
        self._builder = PackageBuilder(content, self.prepopulator, clock=clock, new_id=new_id)
        self._clock = clock

    # -- $questionnaire-package -----------------------------------------------------------

    def questionnaire_package(
        self, body: Any, *, version: str | None = None, client: str | None = None
    ) -> Resource:
        """Answer ``Questionnaire/$questionnaire-package`` with the output Parameters."""
        request = parse_package_request(body)
        shape = VERSIONS.get(version or "") or request.version or self.default_version
        selection = select(request, rules=self.rules, assertions=self.assertions)
        parameters: list[dict[str, Any]] = []
        notes = list(selection.notes)
        drafts: list[ResponseRecord] = []
        for canonical, order in selection.forms:
            served = self.content.find("Questionnaire", canonical)
            if served is None:
                notes.append(f"questionnaire {canonical} is not available from this payer")
                continue
            if _unchanged(served, request.changed_since):
                notes.append(f"questionnaire {canonical_of(served)} has not changed since then")
                continue
            bundle, draft = self._builder.bundle(
                served,
                request,
                order,
                version=shape,
                doc_purpose=selection.doc_purpose,
            )
            parameters.append({"name": shape.bundle_parameter, "resource": bundle})
            assertion = selection.assertion.assertion_id if selection.assertion else None
            drafts.append(_record(draft, "draft", assertion, client))
        if not parameters and not notes:
            notes.append("no documentation form applies to these orders")
        if notes:
            parameters.append({"name": shape.outcome_parameter, "resource": _outcome(notes)})
        if self.records is not None:
            self.records.save(drafts)
        return {"resourceType": "Parameters", "parameter": parameters}

    # -- $next-question ---------------------------------------------------------------------

    def next_question(self, body: Any) -> Resource:
        """Answer ``Questionnaire/$next-question`` with the QuestionnaireResponse (bare)."""
        response = copy.deepcopy(parse_next_question(body))
        form = _contained_form(response)
        problems = origin_problems(response) + required_problems(form, response)
        if problems:
            raise DtrRequestError("the QuestionnaireResponse cannot be continued", problems)
        definition = self._adaptive_definition(form)
        problems = validate_response(response, definition)
        if problems:
            raise DtrRequestError("the QuestionnaireResponse does not fit its form", problems)
        presented = {str(i.get("linkId")) for i in form.get("item", [])}
        page = next_page(definition, presented, response)
        if page is None:
            if "dtr-complete" not in presented:
                form.setdefault("item", []).append(completion_item())
            response["status"] = "completed"
        else:
            form.setdefault("item", []).append(page)
            response["status"] = "in-progress"
        return response

    def _adaptive_definition(self, form: Resource) -> Resource:
        derived = form.get("derivedFrom")
        for canonical in [*(derived if isinstance(derived, list) else []), form.get("url")]:
            if isinstance(canonical, str):
                definition = self.content.definition(canonical)
                if definition is not None:
                    return definition
        raise DtrRequestError(
            "the contained Questionnaire is not derived from an adaptive form of this payer",
            [f"derivedFrom: {form.get('derivedFrom')}, url: {form.get('url')}"],
        )

    # -- $log-questionnaire-errors ------------------------------------------------------------

    def log_errors(self, body: Any, *, client: str | None = None) -> Resource:
        """Record errors a DTR client met in our forms (``oper-1``)."""
        canonicals, outcomes = parse_log_errors(body)
        if self.records is not None:
            self.records.log_errors(canonicals, outcomes, client)
        return _outcome([f"recorded {len(outcomes)} outcome(s)"], severity="information")

    # -- reads ------------------------------------------------------------------------------

    def read(self, kind: str, resource_id: str) -> Resource:
        """Return a Questionnaire, Library or ValueSet by id."""
        found = self.content.read(kind, resource_id)
        if found is None:
            raise ResourceNotFound(f"{kind}/{resource_id} is not known")
        return found

    def expand(
        self, *, url: str | None = None, version: str | None = None, value_set_id: str | None = None
    ) -> Resource:
        """``ValueSet/$expand`` (DTR payer service, SHALL): the ValueSet with its expansion.

        Every ValueSet we serve carries an expansion computed offline (``davinci-pa
        valuesets import``); an enumerated compose is expanded again as of today with active
        codes only (``oper-5``). Filters and paging are not offered.

        Raises:
            DtrRequestError: neither a canonical nor an id, or a ValueSet without expansion.
            ResourceNotFound: no such ValueSet.
        """
        if value_set_id is not None:
            found: Resource | None = self.read("ValueSet", value_set_id)
        elif url:
            found = self.content.find("ValueSet", f"{url}|{version}" if version else url)
        else:
            raise DtrRequestError("ValueSet/$expand needs a url (or ValueSet/{id}/$expand)")
        if found is None:
            raise ResourceNotFound(f"ValueSet {url} is not known")
        if "expansion" not in found:
            raise DtrRequestError(f"ValueSet {found.get('url')} has no expansion here")
        return expansion_as_of(found, self._clock())

    def search(self, kind: str, url: str | None, version: str | None) -> Resource:
        """A searchset Bundle of the resources of a kind matching ``url`` (and ``version``)."""
        if url:
            found = self.content.find(kind, f"{url}|{version}" if version else url)
            matches = [found] if found is not None else []
        else:
            matches = self.content.all(kind)
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(matches),
            "entry": [
                {
                    "fullUrl": f"{self.content.base}/{kind}/{m['id']}",
                    "resource": m,
                    "search": {"mode": "match"},
                }
                for m in matches
            ],
        }

    # -- $populate ------------------------------------------------------------------------

    def populate(self, body: Any) -> Resource:
        """SDC ``$populate`` for payer-side use: questionnaire canonical, subject and data.

        Parameters: ``canonical`` (valueCanonical or valueUri), ``subject``
        (valueReference to a Patient) and ``data`` (a Bundle of the patient's record).
        """
        values = _named(body, "$populate")
        canonical = values.get("canonical") or values.get("questionnaireRef")
        questionnaire = self.content.definition(str(canonical)) if canonical else None
        if questionnaire is None:
            raise DtrRequestError(f"$populate: unknown questionnaire {canonical!r}")
        subject = values.get("subject")
        reference = subject.get("reference") if isinstance(subject, dict) else None
        patient_id = str(reference).rsplit("/", 1)[-1] if reference else None
        data = values.get("data") or {"resourceType": "Bundle", "type": "collection"}
        if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
            raise DtrRequestError("$populate: the 'data' parameter must be a Bundle resource")
        context = PrepopulationContext(patient_id=patient_id)
        result = self.prepopulator.populate(questionnaire, data, context)
        parameters: list[dict[str, Any]] = [{"name": "response", "resource": result.response}]
        if result.problems:
            parameters.append({"name": "issues", "resource": _outcome(list(result.problems))})
        return {"resourceType": "Parameters", "parameter": parameters}

    # -- QuestionnaireResponse intake ---------------------------------------------------------

    def receive_response(self, body: Any, *, client: str | None = None) -> Resource:
        """Validate a QuestionnaireResponse against its form and store it (linked).

        Raises:
            DtrRequestError: not a QuestionnaireResponse, unknown form, or invalid answers.
        """
        if not isinstance(body, dict) or body.get("resourceType") != "QuestionnaireResponse":
            raise DtrRequestError("QuestionnaireResponse intake expects a QuestionnaireResponse")
        response = copy.deepcopy(body)
        form = self._form_of(response)
        draft = None
        if self.records is not None and isinstance(response.get("id"), str):
            draft = self.records.latest(response["id"], kind="draft")
        prepopulated = dict(draft.resource) if draft is not None else None
        problems = structure_problems(response)
        problems += validate_response(response, form, prepopulated=prepopulated)
        if not response.get("subject"):
            problems.append("subject is required")
        if problems:
            raise DtrRequestError("the QuestionnaireResponse is not valid", problems)
        response.setdefault("id", str(uuid.uuid4()))
        if self.records is not None:
            assertion = draft.assertion_id if draft is not None else None
            self.records.save([_record(response, "received", assertion, client)])
        return response

    def _form_of(self, response: Resource) -> Resource:
        reference = str(response.get("questionnaire", ""))
        if reference.startswith("#"):
            form = _contained_form(response)
            return self._adaptive_definition(form)
        definition = self.content.definition(reference) if reference else None
        if definition is None:
            raise DtrRequestError(f"questionnaire {reference!r} is not a form of this payer")
        return definition

    def responses(
        self, *, order_ref: str | None = None, assertion_id: str | None = None
    ) -> list[Resource]:
        """Received responses for an order or a coverage assertion (for PAS), newest first."""
        if self.records is None:
            return []
        if assertion_id:
            return [dict(r.resource) for r in self.records.for_assertion(assertion_id)]
        if order_ref:
            return [dict(r.resource) for r in self.records.for_order(order_ref)]
        return []


def _contained_form(response: Resource) -> Resource:
    reference = str(response.get("questionnaire", ""))
    resources = response.get("contained")
    contained = [
        c
        for c in (resources if isinstance(resources, list) else [])
        if isinstance(c, dict) and c.get("resourceType") == "Questionnaire"
    ]
    if not reference.startswith("#") or len(contained) != 1:
        raise DtrRequestError(
            "an adaptive QuestionnaireResponse must reference its one contained Questionnaire "
            "(questionnaire = '#id', spec-25)"
        )
    form = contained[0]
    if form.get("id") != reference[1:]:
        raise DtrRequestError(f"no contained Questionnaire has id {reference[1:]!r}")
    if not isinstance(form.get("item", []), list):
        raise DtrRequestError("the contained Questionnaire's item must be a list")
    return form


def _named(body: Any, operation: str) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise DtrRequestError(f"{operation} expects a Parameters resource")
    parameters = body.get("parameter", [])
    if not isinstance(parameters, list):
        raise DtrRequestError(f"{operation}: Parameters.parameter must be a list")
    values: dict[str, Any] = {}
    for param in parameters:
        if isinstance(param, dict) and isinstance(param.get("name"), str):
            value = next((v for k, v in param.items() if k.startswith(("value", "resource"))), None)
            values[param["name"]] = value
    return values


def _unchanged(served: Resource, since: Any) -> bool:
    if since is None or not isinstance(served.get("date"), str):
        return False
    try:
        date = datetime.fromisoformat(served["date"])
    except ValueError:
        return False
    if date.tzinfo is None:
        date = date.replace(tzinfo=since.tzinfo)
    return bool(date <= since)


def _outcome(notes: list[str], *, severity: str = "warning") -> Resource:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": severity, "code": "informational", "diagnostics": note} for note in notes
        ],
    }


def _record(
    response: Resource, kind: str, assertion_id: str | None, client: str | None
) -> ResponseRecord:
    coverage = next(
        (
            r
            for url in (QR_COVERAGE, QR_CONTEXT)
            for r in _references(response, url)
            if r.startswith("Coverage/")
        ),
        None,
    )
    order = next(
        (r for r in _references(response, QR_CONTEXT) if not r.startswith("Coverage/")), None
    )
    subject = response.get("subject") or {}
    return ResponseRecord(
        response_id=str(response.get("id")),
        questionnaire=str(response.get("questionnaire", "")),
        status=str(response.get("status", "")),
        kind=kind,
        resource=response,
        subject_ref=subject.get("reference") if isinstance(subject, dict) else None,
        order_ref=order,
        coverage_ref=coverage,
        assertion_id=assertion_id,
        client=client,
    )


def _references(response: Resource, url: str) -> Iterator[str]:
    """The reference strings of the ``valueReference`` extensions with this url."""
    for ext in extensions(response, url):
        value = ext.get("valueReference")
        if isinstance(value, dict) and isinstance(value.get("reference"), str):
            yield value["reference"]


@functools.lru_cache(maxsize=1)
def shipped_content() -> DtrContent:
    """The shipped forms, with the rule pack's value sets beside them (loaded once)."""
    folder = shipped_questionnaires()
    rules = folder.parent / "cql_rules"
    return DtrContent.load(folder, valueset_dirs=[rules] if rules.is_dir() else [])


@functools.lru_cache(maxsize=4)
def pack_content(folders: tuple[Path, ...], pack: Path | None) -> DtrContent:
    """The DTR content a rule pack serves: its content folders, its value sets beside them."""
    return DtrContent.load(list(folders), valueset_dirs=[pack] if pack else [])


def payer_dtr(
    *,
    rules: RulePack,
    database: Database,
    assertions: AssertionSource,
    default_version: str = "2.2",
    clock: Clock = utc_now,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> DtrService:
    """The DTR service a :class:`~davinci_pa.payer.Payer` uses by default."""
    content = pack_content(rules.content_dirs, rules.folder) if rules.content_dirs else None
    return DtrService(
        content or shipped_content(),
        rules=rules,
        records=DtrRecords(database, clock=clock),
        assertions=assertions,
        default_version=default_version,
        clock=clock,
        new_id=new_id,
    )
