"""Mail the relay sends: one sender over Amazon SES v2, header-safe values, text templates.

Sign-in codes (:mod:`sekisho.sessions`) and the confirmation of an entry
(:mod:`sekisho.intake.reply`) both go through :class:`~sekisho.mail.sender.SesMailer`.
"""
