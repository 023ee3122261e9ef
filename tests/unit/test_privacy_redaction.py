"""GraphQL's own error messages lose the values a caller sent, keep what names the schema."""

from __future__ import annotations

import pytest

from service.schema.redaction import without_values

SECRET = "Marisol Vantongeren"


@pytest.mark.parametrize(
    ("message", "kept"),
    [
        (
            f"Variable '$input' has invalid value at .dateOfBirth: Value cannot represent a "
            f"Date: '{SECRET}'. Invalid isoformat string: '{SECRET}'",
            "Variable '$input' has invalid value at .dateOfBirth:",
        ),
        (
            f"Variable '$input' has invalid value: Expected value of type 'OpenReturnCaseInput!',"
            f" found {{'fullName': '{SECRET}'}}; Field 'languages' of required type '[String!]!'"
            " was not provided.",
            "Field 'languages' of required type '[String!]!' was not provided.",
        ),
        (
            f"Variable '$input' has invalid value at .factors[0]: Value '{SECRET}' does not exist"
            " in 'RiskFactor' enum. Did you mean the enum value 'DEBTS'?",
            "Did you mean the enum value 'DEBTS'?",
        ),
        (f"Expected value of type 'Date!', found \"{SECRET}\".", "Expected value of type 'Date!'"),
        (
            "Variable '$input' has invalid value: Expected value of type 'UpdateClientProfileInput'"
            f" to include required field 'languages', found: {{'fullName': '{SECRET}'}}.",
            "to include required field 'languages'",
        ),
        (f"String cannot represent a non string value: ['{SECRET}']", "String cannot represent"),
        (f"Syntax Error: Unexpected Name '{SECRET}'.", "Syntax Error:"),
        (f"Variable '$input' got invalid value '{SECRET}'.", "Variable '$input'"),
    ],
)
def test_values_are_cut_from_graphql_messages(message: str, kept: str) -> None:
    redacted = without_values(message)
    assert SECRET not in redacted
    assert "Marisol" not in redacted
    assert kept in redacted


@pytest.mark.parametrize(
    "message",
    [
        "Cannot query field 'fullName' on type 'Query'.",
        "Variable '$input' of required type 'OpenReturnCaseInput!' was not provided.",
        "Unknown argument 'name' on field 'Query.returnCase'.",
    ],
)
def test_messages_without_values_stay_as_they_are(message: str) -> None:
    assert without_values(message) == message
