"""`signin-webhooks bench`: every stage measured beside a baseline run on the same machine."""
