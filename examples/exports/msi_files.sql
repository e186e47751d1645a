-- patchdeck export kit: msi.dll from software inventory (software inventory must be set to
-- collect msi.dll: Software Inventory Client Agent, a rule for msi.dll in %windir%\system32).
-- Read by the probe `msi` (config key software_files_csv). FilePath tells the running
-- Windows Installer (system32) from installers' leftover copies.
-- Columns: ResourceID, Name0, FileName, FileVersion, FilePath.
SET NOCOUNT ON;
SELECT sf.ResourceID,
       sys.Name0,
       sf.FileName,
       sf.FileVersion,
       sf.FilePath
FROM v_GS_SoftwareFile AS sf
JOIN v_R_System AS sys ON sys.ResourceID = sf.ResourceID
WHERE sf.FileName = 'msi.dll';
