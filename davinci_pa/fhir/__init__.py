"""FHIR R4 JSON helpers: references, bundles, codings, OperationOutcome, REST client.

FHIR is plain JSON inside the library; these helpers read and build it without a model layer.
"""
