"""Cases: catalogue, routing rules, the closed-loop state machine, 吹哨报到, indicators, Open311.

Pure modules (no database, no HTTP): :mod:`.catalogue`, :mod:`.rules`, :mod:`.lifecycle`,
:mod:`.escalation`, :mod:`.indicators`, :mod:`.duplicates`, :mod:`.open311`. The use cases that
store and load cases live in :mod:`geo_grid.services.cases`.
"""
