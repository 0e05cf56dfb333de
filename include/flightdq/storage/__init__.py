"""flightdq's own records (check history, remediations, incidents) in a blob store: a folder of
the local lake, or an S3 prefix on AWS.

May import: `flightdq.core`.
"""
