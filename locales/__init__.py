"""Gettext catalogs (vi first, en second), read by bot.core.i18n."""
