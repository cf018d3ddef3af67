"""Stand-in for pypa's get-pip.py, the bootstrap script ansible-test downloads for its virtual environments.

ansible-test (``sanity --venv``, ``units --venv``) bootstraps pip into each
venv with ``get-pip-<version>.py`` from ci-files.testing.ansible.com, which
this machine cannot reach (PyPI only); it reads the script from
``~/.ansible/test/cache/get_pip_<version>.py`` first ("The bootstrap script
can be manually downloaded and saved to ..."). ``make`` installs this file
there. It does what get-pip does with the arguments ansible-test gives it
(``pip==<version> --no-setuptools --no-wheel`` and pip options): pip from the
interpreter's own ``ensurepip`` wheel, then the requested pins from the
package index pip is configured with.
"""

import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=False, default_pip=True)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
env = dict(os.environ)
# ensurepip's older pip reads no system trust store: name Debian's bundle (pip 24.2 and newer use truststore).
if os.path.exists("/etc/ssl/certs/ca-certificates.crt"):
    env.setdefault("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt")
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args], env=env))
