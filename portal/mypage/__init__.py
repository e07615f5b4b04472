"""MyPage: home, notices, settings, the application flow and account pages."""
