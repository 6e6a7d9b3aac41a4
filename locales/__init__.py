"""Gettext catalogs (vi first, en second), read by bot.i18n."""
