from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/theme/", views.set_theme, name="set_theme"),
    path("settings/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("settings/tokens/", views.tokens, name="tokens"),
    path("settings/tokens/<uuid:uuid>/revoke/", views.token_revoke, name="token_revoke"),
    path("settings/users/", views.admin_users, name="admin_users"),
    path("settings/users/<uuid:uuid>/", views.admin_user_edit, name="admin_user_edit"),
    path("settings/teams/", views.teams, name="teams"),
    path("settings/roles/", views.roles, name="roles"),
]
