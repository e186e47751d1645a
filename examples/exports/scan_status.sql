-- patchdeck export kit: scan status of every ConfigMgr 2007 client.
-- Read by the probes `wua` (config key scan_status_csv) and `sup-capacity` (scan_status_csv).
-- Every client (Client0 = 1) with its last scan, or NULLs when it never scanned: starting
-- from v_UpdateScanStatus would hide the clients that never scanned.
-- Columns: ResourceID, Name0, LastScanTime, LastScanState, LastErrorCode, LastWUAVersion,
-- LastScanPackageLocation (the names the probes read; keep them).
SET NOCOUNT ON;
SELECT sys.ResourceID,
       sys.Name0,
       uss.LastScanTime,
       uss.LastScanState,
       uss.LastErrorCode,
       uss.LastWUAVersion,
       uss.LastScanPackageLocation
FROM v_R_System AS sys
LEFT JOIN v_UpdateScanStatus AS uss ON uss.ResourceID = sys.ResourceID
WHERE sys.Client0 = 1;
