"""Review data: admin accounts, annotations on turns, and the queries the admin console runs."""
