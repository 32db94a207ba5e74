"""The declarations' parties and senders, reused: the figures are made by real lists."""

from __future__ import annotations

from declarations.tests.conftest import (  # noqa: F401 - fixtures
    agent,
    agent_appointment,
    agent_client,
    clients,
    ebc,
    ebc_client,
    ebp,
    ebp_client,
    logistics,
    logistics_client,
    parties,
    pay,
    pay_client,
    reference_data,
    send,
)
