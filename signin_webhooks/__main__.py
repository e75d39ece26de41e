"""`python -m signin_webhooks`: the `signin-webhooks` command."""

from signin_webhooks.cli import main

if __name__ == "__main__":
    main(prog_name="signin-webhooks")
