"""Login, logout and sessions for customers (MyPage) and bank staff (console)."""
