"""Tests for SLA notifications."""
