"""doctor's checks: each declares the probes it reads, evidence is gathered once
(``gather.gather``), then each check is a pure function over it. The catalogue
is ``checks.catalogue``; the probes and what each builds on, ``checks.probe_graph``."""
