"""Work to do on return cases: follow-ups due and each case worker's work list.

The rules are pure (``service.domain.work``); this package loads what they need: the
shelter's ``WorkPolicy`` and the states of the candidate cases, folded from their events.
"""
