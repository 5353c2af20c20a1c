"""The grants, one module each; :mod:`.registry` names them (``GRANTS``, ``grant_for``)."""
