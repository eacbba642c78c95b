"""The actors, one module per kind: its state, parameters (`PARAMS`), weekly rules, kernel calls
and output columns (`COLUMNS`, `observe`).

- `makers`: precursor makers (structure of arrays)
- `buyers`: what every precursor buyer does; `cartels` (Mesa agents) and `mail_buyers` (US
  mail-order buyers, Mesa agents) build on it
- `customs`: customs agencies (Mesa agents) and their posts (structure of arrays)
- `regulators`: chemical controls, national regulators, China's regulator, the UN commission
  (Mesa agents)
- `retail`: US retail dealers by market region
- `users`: people who use opioids (structure of arrays)
"""
