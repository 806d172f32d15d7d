"""The processes: the app factory, the HTTP front, the worker process and the service that
runs them. The composition root: the only package that wires listeners to the domain and the
domain to its infrastructure, from one `Settings`."""
