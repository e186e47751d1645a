-- patchdeck export kit: every ConfigMgr 2007 client, so that a client with no msi.dll row
-- is "unknown", never "compliant".
-- Read by the probe `msi` (config key clients_csv).
-- Columns: ResourceID, Name0.
SET NOCOUNT ON;
SELECT sys.ResourceID,
       sys.Name0
FROM v_R_System AS sys
WHERE sys.Client0 = 1;
