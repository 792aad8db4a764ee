"""PAS 2.2.1 canonical URLs, code systems and review-action codes (PAS §Review action).

Review actions come from X12 code list 306 (HCR01); ``A1`` certified in total, ``A3`` not
certified, ``A4`` pended, ``A6`` modified, ``C`` cancelled.
"""

from __future__ import annotations

PAS = "http://hl7.org/fhir/us/davinci-pas"
SD = PAS + "/StructureDefinition/"
REQUEST_BUNDLE = SD + "profile-pas-request-bundle"
RESPONSE_BUNDLE = SD + "profile-pas-response-bundle"
INQUIRY_REQUEST_BUNDLE = SD + "profile-pas-inquiry-request-bundle"
INQUIRY_RESPONSE_BUNDLE = SD + "profile-pas-inquiry-response-bundle"
CLAIM_RESPONSE = SD + "profile-claimresponse"
CLAIM_INQUIRY_RESPONSE = SD + "profile-claiminquiryresponse"
SUBSCRIPTION = SD + "profile-subscription"
TOPIC = PAS + "/SubscriptionTopic/PASSubscriptionTopic"

EXT_REVIEW_ACTION = SD + "extension-reviewAction"
EXT_REVIEW_ACTION_CODE = SD + "extension-reviewActionCode"
EXT_ITEM_TRACE = SD + "extension-itemTraceNumber"
EXT_REQUESTED_DATE = SD + "extension-itemRequestedServiceDate"
EXT_COMMUNICATED_DIAGNOSIS = SD + "extension-communicatedDiagnosis"
EXT_PREAUTH_ISSUE = SD + "extension-itemPreAuthIssueDate"
EXT_PREAUTH_PERIOD = SD + "extension-itemPreAuthPeriod"
EXT_REQUESTED_SERVICE = SD + "extension-requestedService"
EXT_CERTIFICATION_TYPE = SD + "extension-certificationType"
EXT_LEVEL_OF_SERVICE = SD + "extension-levelOfServiceCode"
EXT_TRANSMISSION_IDS = SD + "extension-TransmissionIdentifiers"
EXT_INFO_CANCELLED = SD + "modifierextension-infoCancelled"
EXT_AUTHORIZATION_NUMBER = SD + "extension-authorizationNumber"

X12_306 = "https://codesystem.x12.org/005010/306"
X12_886 = "https://codesystem.x12.org/external/886"
X12_1322 = "https://codesystem.x12.org/005010/1322"
X12_1338 = "https://codesystem.x12.org/005010/1338"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
PROCESS_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"

APPROVED, PARTIAL, DENIED, PENDED, MODIFIED, CANCELLED = "A1", "A2", "A3", "A4", "A6", "C"
ACTION_DISPLAY = {
    APPROVED: "Certified in total",
    PARTIAL: "Certified - partial",
    DENIED: "Not Certified",
    PENDED: "Pended",
    MODIFIED: "Modified",
    CANCELLED: "Cancelled",
}
FINAL_ACTIONS = frozenset({APPROVED, PARTIAL, DENIED, MODIFIED, CANCELLED})
APPROVALS = frozenset({APPROVED, PARTIAL, MODIFIED})
"""Actions that certify an item in total or in part (CMS-0057-F counts them as approvals)."""
NEEDS_REASON = frozenset({DENIED, MODIFIED, PARTIAL})
"""CMS-0057-F: a denial (or a partial or modified approval) must state a specific reason."""

URGENT_LEVELS = frozenset({"U", "03"})
"""X12 1338 level-of-service codes for urgent / expedited review."""

CANCEL = "3"
"""X12 1322 certification type ``3``: cancel."""
