"""Infrastructure: configuration, extensions, errors, security headers, passwords, time, template filters, server start-up. Imports nothing from the layers above."""
