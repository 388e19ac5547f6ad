"""Leads: what a CRM or form posts (intake), who a lead is (E.164 identity), and their store."""
