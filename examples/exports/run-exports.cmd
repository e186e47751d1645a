@echo off
rem patchdeck export kit, Windows side: runs every query of this folder against the
rem ConfigMgr 2007 site database with sqlcmd (installed with SQL Server 2005 and later) and
rem writes the exports patchdeck reads, then a manifest, exports.csv, written last.
rem
rem   run-exports.cmd SQLSERVER SMS_ABC ABC \\fs01\patchdeck [WSUSSQLSERVER [WSUSDATABASE]]
rem
rem The optional fifth argument is the SQL Server holding the SUP's WSUS database: the value
rem SqlServerName under HKLM\SOFTWARE\Microsoft\Update Services\Server\Setup on the SUP names
rem it, SqlDatabaseName the database (SUSDB unless the sixth argument says otherwise). With it,
rem wsus_configuration.sql runs there too. A Windows Internal Database answers only on the SUP
rem itself: run the kit there.
rem
rem Each export is written under a temporary name and renamed into place, so that a reader
rem never sees half a file; the manifest names every file with its row count and the UTC time
rem its query started, so patchdeck judges ages from the time the data was taken and refuses
rem a file whose rows disagree. Run it with Task Scheduler (patchdeck-exports.xml) as an
rem account with db_datareader on the site database (Windows authentication, -E).
setlocal EnableExtensions EnableDelayedExpansion
if "%~4"=="" (
  echo usage: %~nx0 SQLSERVER DATABASE SITECODE OUTFOLDER [WSUSSQLSERVER [WSUSDATABASE]]
  exit /b 2
)
set "SERVER=%~1"
set "DB=%~2"
set "SITE=%~3"
set "OUT=%~4"
set "WSUSSQL=%~5"
set "WSUSDB=%~6"
if "%WSUSDB%"=="" set "WSUSDB=SUSDB"
set "KIT=%~dp0"
set "KITVERSION=1"
set "MANIFEST=%OUT%\exports.csv.tmp"
> "%MANIFEST%" echo File,Rows,TakenUtc,SiteCode,KitVersion
rem The site database's exports.
for %%E in (scan_status msi_files clients status_messages site_server_programs sup_properties sync_failures component_messages component_summary) do (
  call :export "%SERVER%" "%DB%" %%E || exit /b 1
)
rem The WSUS database's, when its server is given.
if not "%WSUSSQL%"=="" (
  for %%E in (wsus_configuration) do (
    call :export "%WSUSSQL%" "%WSUSDB%" %%E || exit /b 1
  )
)
move /y "%MANIFEST%" "%OUT%\exports.csv" >nul
echo exports written to %OUT%
endlocal
exit /b 0

:export
rem One export: %1 the SQL server, %2 the database, %3 the query's name (without .sql).
rem The time the query starts, from the database server's clock, in UTC.
for /f "usebackq delims=" %%T in (`sqlcmd -S "%~1" -d "%~2" -E -h -1 -W -Q "SET NOCOUNT ON; SELECT CONVERT(varchar(19), GETUTCDATE(), 120)"`) do set "TAKEN=%%T"
rem -u: UTF-16 (names with any characters survive); -W -s",": trimmed, comma separated.
sqlcmd -S "%~1" -d "%~2" -E -u -W -s"," -i "%KIT%%~3.sql" -o "%OUT%\%~3.csv.tmp"
if errorlevel 1 (
  echo %~3: sqlcmd failed, the previous export stays in place
  del /q "%OUT%\%~3.csv.tmp" 2>nul
  exit /b 1
)
rem Data rows: every line but the header and sqlcmd's dashed underline.
for /f %%N in ('type "%OUT%\%~3.csv.tmp" ^| find /c /v ""') do set /a ROWS=%%N-2
move /y "%OUT%\%~3.csv.tmp" "%OUT%\%~3.csv" >nul
>> "%MANIFEST%" echo %~3.csv,!ROWS!,!TAKEN!,%SITE%,%KITVERSION%
exit /b 0
