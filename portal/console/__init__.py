"""The bank console (/console): branch staff and bank administrators.

A room of its own because its users, permissions and availability (it stays
up during MyPage maintenance) differ from MyPage's."""
