"""Printed documents: invitation letters with the household's QR code, for people with no chat."""
