"""Transfers of a case between two shelters: the offer table and the two-party flow.

``offers`` is the SQL of ``transfer_offers`` (both parties see a row, no one else);
``flow`` runs offering, withdrawing, accepting and declining: the domain decides
(``service.domain.return_case.transfer``), the flow writes both sides.
"""
