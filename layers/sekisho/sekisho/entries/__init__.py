"""Entries of a form beyond kintone: each receipt's state (queued, recorded, refused) and
the seats it holds, in one DynamoDB table every function shares."""
