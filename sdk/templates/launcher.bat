@echo off
rem bin\{{RELEASE_NAME}}.bat: the launcher of release {{RELEASE_NAME}}, written by Relcraft {{RELCRAFT_VERSION}}.
setlocal EnableExtensions EnableDelayedExpansion

if not defined RELEASE_ROOT for %%i in ("%~dp0..") do set "RELEASE_ROOT=%%~fi"
if not defined RELEASE_NAME set "RELEASE_NAME={{RELEASE_NAME}}"
if not defined RELEASE_VSN for /f "usebackq tokens=1" %%v in ("%RELEASE_ROOT%\releases\start.data") do set "RELEASE_VSN=%%v"
set "RELEASE_COMMAND=%~1"
if not defined RELEASE_PROG set "RELEASE_PROG=%~nx0"
if not defined RELEASE_NODE set "RELEASE_NODE=%RELEASE_NAME%"
if not defined RELEASE_TMP set "RELEASE_TMP=%RELEASE_ROOT%\tmp"
if not defined RELEASE_MODE set "RELEASE_MODE={{RELEASE_MODE}}"
if not defined RELEASE_STOP_TIMEOUT set "RELEASE_STOP_TIMEOUT=30"
set "REL_VSN_DIR=%RELEASE_ROOT%\releases\%RELEASE_VSN%"
if exist "%REL_VSN_DIR%\env.bat" call "%REL_VSN_DIR%\env.bat" %*

set "PID_FILE=%RELEASE_TMP%\%RELEASE_NODE%.pid"
set "APP_DIR=%RELEASE_ROOT%\lib\%RELEASE_NAME%-%RELEASE_VSN%"
set "TOOLS_DIR=%RELEASE_ROOT%\lib\relcraft-{{RELCRAFT_VERSION}}"
set "DOTNET=%RELEASE_ROOT%\runtime\dotnet.exe"
if "{{RUNTIME_MODE}}"=="system" set "DOTNET=dotnet"

if "%~1"=="" goto usage
if /i "%~1"=="start" goto start
if /i "%~1"=="stop" goto stop
if /i "%~1"=="pid" goto pid
if /i "%~1"=="version" goto version
goto unknown

:start
call :read_pid
if defined PID (
  echo %RELEASE_NAME% is already running ^(pid !PID!^) 1>&2
  exit /b 1
)
if not exist "%RELEASE_TMP%" mkdir "%RELEASE_TMP%"
rem The agent inside the app writes its own pid to RELCRAFT_PID_FILE: cmd.exe cannot exec.
set "RELCRAFT_PID_FILE=%PID_FILE%"
rem The Generic Host's content root (appsettings*.json, wwwroot\) is the app's folder, not the working directory.
if not defined DOTNET_CONTENTROOT if not defined ASPNETCORE_CONTENTROOT set "DOTNET_CONTENTROOT=%APP_DIR%"
if exist "%TOOLS_DIR%\Relcraft.Agent.dll" set "DOTNET_STARTUP_HOOKS=%TOOLS_DIR%\Relcraft.Agent.dll"
shift
set "ARGS="
:collect
if "%~1"=="" goto run
set ARGS=!ARGS! %1
shift
goto collect
:run
"%DOTNET%" exec --runtimeconfig "%REL_VSN_DIR%\%RELEASE_NAME%.runtimeconfig.json" "%APP_DIR%\{{RELEASE_ENTRY}}" !ARGS!
exit /b %ERRORLEVEL%

:stop
call :read_pid
if not defined PID (
  echo %RELEASE_NAME% is not running 1>&2
  exit /b 1
)
taskkill /PID %PID% >nul 2>&1
set /a WAITED=0
:stop_wait
tasklist /FI "PID eq %PID%" 2>nul | find "%PID%" >nul || goto stopped
if %WAITED% geq %RELEASE_STOP_TIMEOUT% (
  echo %RELEASE_NAME% did not stop within %RELEASE_STOP_TIMEOUT%s; killing pid %PID% 1>&2
  taskkill /F /PID %PID% >nul 2>&1
  goto stopped
)
timeout /t 1 /nobreak >nul
set /a WAITED+=1
goto stop_wait
:stopped
del /q "%PID_FILE%" 2>nul
exit /b 0

:pid
call :read_pid
if not defined PID (
  echo %RELEASE_NAME% is not running 1>&2
  exit /b 1
)
echo %PID%
exit /b 0

:version
echo %RELEASE_NAME% %RELEASE_VSN%
exit /b 0

:read_pid
set "PID="
if not exist "%PID_FILE%" exit /b 0
for /f "usebackq tokens=1" %%p in ("%PID_FILE%") do set "PID=%%p"
if not defined PID exit /b 0
tasklist /FI "PID eq %PID%" 2>nul | find "%PID%" >nul || set "PID="
exit /b 0

:usage
echo Usage: %RELEASE_PROG% start^|stop^|pid^|version [ARGS] 1>&2
exit /b 1

:unknown
echo Usage: %RELEASE_PROG% start^|stop^|pid^|version [ARGS] 1>&2
echo Unknown command: %~1 1>&2
exit /b 1
